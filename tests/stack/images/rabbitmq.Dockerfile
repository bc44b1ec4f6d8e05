# Test-only stand-in for the official rabbitmq image (which cannot be pulled here): Debian's
# RabbitMQ with the interface the stack uses — RABBITMQ_DEFAULT_USER/RABBITMQ_DEFAULT_PASS,
# port 5672, `rabbitmq-diagnostics -q ping` for the health check.
FROM python:3.10-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rabbitmq-server >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY rabbitmq-entrypoint.sh /usr/local/bin/rabbitmq-entrypoint.sh
EXPOSE 5672
LABEL faqbot.test-image=true
CMD ["/usr/local/bin/rabbitmq-entrypoint.sh"]
