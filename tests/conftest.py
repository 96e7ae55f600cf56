"""Suite-wide settings that must be in place before any test module imports Qt."""

import os

# Qt picks its platform when the first QApplication is made: without a display, use offscreen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
