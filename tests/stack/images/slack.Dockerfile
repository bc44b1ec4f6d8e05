# Test-only: the Slack Web API stand-in (tests/stack/slack_standin.py) as a container on the
# stack's network. Build context: the repository root.
FROM python:3.10-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY constraints/py310-rasa.txt /src/constraints.txt
RUN pip install -q -c /src/constraints.txt requests
WORKDIR /app
COPY tests/__init__.py /app/tests/__init__.py
COPY tests/support/__init__.py tests/support/slack_api.py /app/tests/support/
COPY tests/stack/__init__.py tests/stack/slack_standin.py /app/tests/stack/
# Slack's protocol (signatures, Block Kit limits) is the product's: the playground's module.
COPY playground/playground/__init__.py playground/playground/slack_protocol.py /app/playground/
USER nobody
EXPOSE 8080
LABEL faqbot.test-image=true
HEALTHCHECK --interval=2s --timeout=3s --retries=15 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/_test/calls', timeout=2)"]
CMD ["python", "-m", "tests.stack.slack_standin"]
