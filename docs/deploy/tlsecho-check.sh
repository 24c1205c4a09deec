#!/bin/sh
# /usr/local/bin/tlsecho-check: HAProxy's external check for one server, whose address and port HAProxy
# passes as the third and fourth arguments. --proxy-header v2 opens the connection as HAProxy's own checks
# do, so a server running `serve --proxy-protocol` accepts it (leave it out for servers without).
exec tlsecho send "$3" --port "$4" --proxy-header v2 --ca /etc/tlsecho/ca.crt --servername tlsecho.example.com --timeout 3s --expect-echo ping
