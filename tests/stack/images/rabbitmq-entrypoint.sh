#!/bin/sh
# The default user from RABBITMQ_DEFAULT_USER/RABBITMQ_DEFAULT_PASS, as the official image does.
set -eu
cat > /etc/rabbitmq/rabbitmq.conf <<CONF
default_user = $RABBITMQ_DEFAULT_USER
default_pass = $RABBITMQ_DEFAULT_PASS
loopback_users = none
listeners.tcp.default = 5672
CONF
exec rabbitmq-server
