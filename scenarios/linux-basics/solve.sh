#!/bin/bash
# The reference solution: `proctor lab test` runs it to prove that every
# check fails on the untouched machine and passes on a solved one.
set -e
cd /workspace/project
mkdir -p archive
echo 'deadline: friday' > notes.txt
chmod 600 secret.txt
chmod u+x backup.sh
useradd --create-home --shell /bin/bash --groups developers alice
runuser -u alice -- sh -c 'cd /workspace/project && nohup python3 -m http.server 9000 >/tmp/http.log 2>&1 &'
echo '30 2 * * * /workspace/project/backup.sh' | crontab -
# Give the server a moment to listen.
for _ in 1 2 3 4 5 6 7 8 9 10; do curl -fs http://127.0.0.1:9000/ >/dev/null && break; sleep 0.3; done
