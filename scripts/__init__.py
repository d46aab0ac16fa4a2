"""Launchers and builders run by hand or by the tests; nothing at run time imports them."""
