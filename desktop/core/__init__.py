"""The Qt-free domain: cases, the vault, custody, indicators. Never imports PySide6."""
