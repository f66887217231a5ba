#!/bin/bash
grep -qx 'port=8000' /root/app/config.txt || { echo "/root/app/config.txt does not say port=8000"; exit 1; }
