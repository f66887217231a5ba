#!/bin/bash
# Serves /root/app on port 8000 in the background.
cd /root/app && nohup python3 -m http.server 8000 >/tmp/server.log 2>&1 &
sleep 1
echo "serving /root/app on port 8000"
