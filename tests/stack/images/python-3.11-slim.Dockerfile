# Test-only stand-in for python:3.11-slim (publish-api's base image), for engines that cannot
# pull from a registry: the local python:3.10-slim stand-in plus this machine's pyenv CPython
# 3.11, at the same path (its prefix is compiled in). Built by standins.sh, with a tar context
# holding this file and the interpreter without its site-packages.
FROM python:3.10-slim
ARG PYTHON_PREFIX
COPY root/ /root/
RUN chmod 755 /root /root/.pyenv /root/.pyenv/versions \
 && "$PYTHON_PREFIX/bin/python3.11" -m ensurepip --default-pip >/dev/null \
 && for b in python python3 python3.11 pip pip3; do \
      ln -sf "$PYTHON_PREFIX/bin/$b" "/usr/local/bin/$b"; done \
 && python -c 'import ssl, sqlite3, sys; assert sys.version_info[:2] == (3, 11)'
LABEL faqbot.test-image=true
