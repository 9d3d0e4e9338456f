"""The group leader's pages: file a report, see his reports."""
