"""netdesk's windows: Tk on the main thread, network work on worker threads.

Windows talk to the workers in ``net`` only through ``queue.Queue`` objects
polled with ``after()``.
"""
