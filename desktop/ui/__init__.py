"""All PySide6 code: the main window, models over the case, views and the task runner."""
