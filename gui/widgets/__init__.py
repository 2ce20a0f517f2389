"""Widgets shared by several windows: find bar, context menus, the
destructive-action question, the padlock, tooltip and certificate views."""
