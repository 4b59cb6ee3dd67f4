"""Chart snapshots, the event calendar and the daily report page (issue [5/5 Charts])."""
