"""Views of the email app, one module per area so features stay apart."""
