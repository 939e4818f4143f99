"""Crawls over HTTP: StartCrawler really classifies the S3 prefix into the catalog."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler_local import call_admin
from tests.helpers import SUITE_GLUE_ROLE_ARN

from .helpers import columns, make_bucket, wait_for_crawl

# Every crawler and job here gets a real role Glue may assume (the suite resolves roles as AWS does).
pytestmark = pytest.mark.usefixtures("glue_role_arn")

LAZY_SIMPLE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"


def create_crawler(glue: Any, path: str, name: str = "raw", **extra: Any) -> None:
    glue.create_crawler(Name=name, Role=SUITE_GLUE_ROLE_ARN, DatabaseName="cars",
                        Targets={"S3Targets": [{"Path": path}]}, **extra)


def test_headered_csv_becomes_a_table(aws: Any) -> None:
    s3 = make_bucket(aws)
    s3.put_object(Bucket="data-bucket", Key="raw/car_brands/part-1.csv",
                  Body=b"brand,founded,revenue,electric,listed_on\nVW,1937,322.3,true,1961-08-22\n"
                       b"BMW,1916,155.5,false,1918-01-01\n")
    s3.put_object(Bucket="data-bucket", Key="raw/car_brands/part-2.csv",
                  Body=b"brand,founded,revenue,electric,listed_on\nTesla,2003,97,true,2010-06-29\n")
    glue = aws.client("glue")
    glue.create_database(DatabaseInput={"Name": "cars"})
    create_crawler(glue, "s3://data-bucket/raw/car_brands/", TablePrefix="raw_")

    glue.start_crawler(Name="raw")
    crawler = wait_for_crawl(glue, "raw")

    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    table = glue.get_table(DatabaseName="cars", Name="raw_car_brands")["Table"]
    assert columns(table) == [("brand", "string"), ("founded", "bigint"), ("revenue", "double"),
                              ("electric", "boolean"), ("listed_on", "date")]
    descriptor = table["StorageDescriptor"]
    assert descriptor["Location"] == "s3://data-bucket/raw/car_brands/"
    assert descriptor["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert descriptor["OutputFormat"] == "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    assert descriptor["SerdeInfo"] == {"SerializationLibrary": LAZY_SIMPLE, "Parameters": {"field.delim": ","}}
    assert table["Parameters"]["classification"] == "csv"
    assert table["Parameters"]["skip.header.line.count"] == "1"
    assert table["PartitionKeys"] == []
    assert table["TableType"] == "EXTERNAL_TABLE"


def test_headerless_semicolon_csv_gets_col_names(aws: Any) -> None:
    s3 = make_bucket(aws)
    s3.put_object(Bucket="data-bucket", Key="exports/Car Sales/2024.csv", Body=b"vw;12;1.5\nbmw;7;2.25\n")
    glue = aws.client("glue")
    create_crawler(glue, "s3://data-bucket/exports/Car Sales")  # no trailing slash, a space in the name

    glue.start_crawler(Name="raw")
    wait_for_crawl(glue, "raw")

    table = glue.get_table(DatabaseName="cars", Name="car_sales")["Table"]  # database created by the crawl
    assert columns(table) == [("col0", "string"), ("col1", "bigint"), ("col2", "double")]
    assert "skip.header.line.count" not in table["Parameters"]
    assert table["Parameters"]["delimiter"] == ";"
    assert table["StorageDescriptor"]["SerdeInfo"]["Parameters"] == {"field.delim": ";"}
    assert table["StorageDescriptor"]["Location"] == "s3://data-bucket/exports/Car Sales/"


def test_hive_partitions_become_partition_keys_and_partitions(aws: Any) -> None:
    s3 = make_bucket(aws)
    for year, quarter in (("2024", "3"), ("2024", "4"), ("2025", "1")):
        s3.put_object(Bucket="data-bucket", Key=f"raw/sales/year={year}/quarter={quarter}/data.csv",
                      Body=f"brand,units\nvw,{year}\nbmw,{quarter}\n".encode())
    s3.put_object(Bucket="data-bucket", Key="raw/sales/_SUCCESS", Body=b"")
    glue = aws.client("glue")
    create_crawler(glue, "s3://data-bucket/raw/sales/")

    glue.start_crawler(Name="raw")
    wait_for_crawl(glue, "raw")

    table = glue.get_table(DatabaseName="cars", Name="sales")["Table"]
    assert columns(table) == [("brand", "string"), ("units", "bigint")]
    assert table["PartitionKeys"] == [{"Name": "year", "Type": "string"}, {"Name": "quarter", "Type": "string"}]
    partitions = glue.get_partitions(DatabaseName="cars", TableName="sales")["Partitions"]
    assert sorted((p["Values"], p["StorageDescriptor"]["Location"]) for p in partitions) == [
        (["2024", "3"], "s3://data-bucket/raw/sales/year=2024/quarter=3/"),
        (["2024", "4"], "s3://data-bucket/raw/sales/year=2024/quarter=4/"),
        (["2025", "1"], "s3://data-bucket/raw/sales/year=2025/quarter=1/"),
    ]

    # A new partition arrives: the next crawl adds it and keeps the others.
    s3.put_object(Bucket="data-bucket", Key="raw/sales/year=2025/quarter=2/data.csv", Body=b"brand,units\nvw,1\na,2\n")
    glue.start_crawler(Name="raw")
    wait_for_crawl(glue, "raw")
    crawls = glue.list_crawls(CrawlerName="raw")["Crawls"]
    assert len(crawls) == 2
    assert len(glue.get_partitions(DatabaseName="cars", TableName="sales")["Partitions"]) == 4


def test_schema_change_policy_log_leaves_an_existing_table_alone(aws: Any) -> None:
    s3 = make_bucket(aws)
    s3.put_object(Bucket="data-bucket", Key="raw/t/a.csv", Body=b"brand,n\nvw,1\nbmw,2\n")
    glue = aws.client("glue")
    create_crawler(glue, "s3://data-bucket/raw/t/",
                   SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"})
    glue.start_crawler(Name="raw")
    wait_for_crawl(glue, "raw")

    s3.put_object(Bucket="data-bucket", Key="raw/t/a.csv", Body=b"brand,n,extra\nvw,1,2\nbmw,2,3\n")
    glue.start_crawler(Name="raw")
    crawler = wait_for_crawl(glue, "raw")

    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    assert columns(glue.get_table(DatabaseName="cars", Name="t")["Table"]) == [("brand", "string"), ("n", "bigint")]


def test_update_in_database_changes_the_schema(aws: Any) -> None:
    s3 = make_bucket(aws)
    s3.put_object(Bucket="data-bucket", Key="raw/t/a.csv", Body=b"brand,n\nvw,1\nbmw,2\n")
    glue = aws.client("glue")
    create_crawler(glue, "s3://data-bucket/raw/t/")
    glue.start_crawler(Name="raw")
    wait_for_crawl(glue, "raw")

    s3.put_object(Bucket="data-bucket", Key="raw/t/a.csv", Body=b"brand,n,extra\nvw,1,2.5\nbmw,2,3\n")
    glue.start_crawler(Name="raw")
    wait_for_crawl(glue, "raw")

    table = glue.get_table(DatabaseName="cars", Name="t")["Table"]
    assert columns(table) == [("brand", "string"), ("n", "bigint"), ("extra", "double")]
    assert table["VersionId"] == "2"


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        ({"raw/bad/a.bin": b"\x00\x01\x02PK\x03\x04" * 10}, "binary content"),
        ({"raw/bad/a.csv": b"a,b,c\n1,2,3\n4,5\n6,7,8\n"}, "mixed column counts"),
        ({"raw/bad/a.csv": b"brand,n\nvw,1\nbmw,2\n", "raw/bad/b.csv": b"brand,price\nvw,1\nbmw,2\n"}, "mixed schemas"),
    ],
)
def test_unreadable_input_fails_the_crawl_with_a_useful_message(aws: Any, objects: dict[str, bytes],
                                                                 message: str) -> None:
    s3 = make_bucket(aws)
    for key, body in objects.items():
        s3.put_object(Bucket="data-bucket", Key=key, Body=body)
    glue = aws.client("glue")
    create_crawler(glue, "s3://data-bucket/raw/bad/")

    glue.start_crawler(Name="raw")
    crawler = wait_for_crawl(glue, "raw")

    assert crawler["LastCrawl"]["Status"] == "FAILED"
    assert message in crawler["LastCrawl"]["ErrorMessage"]
    assert "s3://data-bucket/raw/bad/" in crawler["LastCrawl"]["ErrorMessage"]
    assert glue.list_crawls(CrawlerName="raw")["Crawls"][0]["State"] == "FAILED"
    with pytest.raises(ClientError):
        glue.get_table(DatabaseName="cars", Name="bad")


def test_missing_bucket_fails_the_crawl(aws: Any) -> None:
    glue = aws.client("glue")
    create_crawler(glue, "s3://no-such-bucket/raw/")

    glue.start_crawler(Name="raw")
    crawler = wait_for_crawl(glue, "raw")

    assert crawler["LastCrawl"]["Status"] == "FAILED"
    assert "bucket does not exist" in crawler["LastCrawl"]["ErrorMessage"]


def test_running_crawler_refuses_start_update_delete_and_stop_cancels(aws: Any) -> None:
    call_admin(aws.url, "settings", {"crawl_min_seconds": 30, "crawl_stopping_seconds": 3})
    s3 = make_bucket(aws)
    s3.put_object(Bucket="data-bucket", Key="raw/t/a.csv", Body=b"brand,n\nvw,1\nbmw,2\n")
    glue = aws.client("glue")
    create_crawler(glue, "s3://data-bucket/raw/t/")
    glue.start_crawler(Name="raw")
    assert glue.get_crawler(Name="raw")["Crawler"]["State"] == "RUNNING"

    attempts: list[Callable[[], object]] = [lambda: glue.start_crawler(Name="raw"),
                                            lambda: glue.update_crawler(Name="raw", Description="x"),
                                            lambda: glue.delete_crawler(Name="raw")]
    for attempt in attempts:
        with pytest.raises(ClientError) as error:
            attempt()
        assert error.value.response["Error"]["Code"] == "CrawlerRunningException"

    glue.stop_crawler(Name="raw")
    assert glue.get_crawler(Name="raw")["Crawler"]["State"] == "STOPPING"
    crawler = wait_for_crawl(glue, "raw")

    assert crawler["LastCrawl"]["Status"] == "CANCELLED"
    assert glue.list_crawls(CrawlerName="raw")["Crawls"][0]["State"] == "STOPPED"
    with pytest.raises(ClientError) as not_running:
        glue.stop_crawler(Name="raw")
    assert not_running.value.response["Error"]["Code"] == "CrawlerNotRunningException"
    with pytest.raises(ClientError):
        glue.get_table(DatabaseName="cars", Name="t")  # a cancelled crawl writes nothing


def test_crawler_metrics_and_last_crawl_during_the_next_crawl(aws: Any) -> None:
    s3 = make_bucket(aws)
    s3.put_object(Bucket="data-bucket", Key="raw/t/a.csv", Body=b"brand,n\nvw,1\nbmw,2\n")
    glue = aws.client("glue")
    create_crawler(glue, "s3://data-bucket/raw/t/")
    glue.start_crawler(Name="raw")
    first = wait_for_crawl(glue, "raw")["LastCrawl"]

    call_admin(aws.url, "settings", {"crawl_min_seconds": 30})
    glue.start_crawler(Name="raw")
    running = glue.get_crawler(Name="raw")["Crawler"]
    glue.stop_crawler(Name="raw")

    assert running["State"] == "RUNNING"
    assert running["LastCrawl"] == first  # LastCrawl is the last *finished* crawl
    metrics = glue.get_crawler_metrics(CrawlerNameList=["raw"])["CrawlerMetricsList"]
    assert metrics[0]["CrawlerName"] == "raw"
    assert metrics[0]["TablesCreated"] == 1
    assert metrics[0]["LastRuntimeSeconds"] > 0
