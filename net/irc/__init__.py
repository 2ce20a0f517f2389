"""The IRC gateway: IRC clients (irssi, WeeChat, HexChat...) in netdesk's chat room."""
