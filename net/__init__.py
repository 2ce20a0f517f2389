"""netdesk's network side: threaded servers, clients and the port scanner.

Nothing here imports tkinter: every service runs headless and reports plain
data, which the console and the windows in ``gui`` render their own way.
"""

__version__ = "0.1.0"
SERVER_NAME = f"netdesk {__version__}"
