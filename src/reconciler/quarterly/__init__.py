"""The quarterly run: crawl, job, waits (`run`), the quality gate and publication (`publish`), and the
QuickSight manifest (`manifest`)."""
