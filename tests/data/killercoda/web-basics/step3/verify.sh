#!/bin/bash
curl -fsS --max-time 3 http://127.0.0.1:8000/config.txt | grep -qx 'port=8000' || { echo "nothing serves config.txt on port 8000"; exit 1; }
