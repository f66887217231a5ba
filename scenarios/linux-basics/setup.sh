#!/bin/bash
# The project the learner starts from: a secret readable by everyone and a
# backup script that cannot run yet, and the team's group.
set -e
mkdir -p /workspace/project
echo 'api-key: 7f3c9a' > /workspace/project/secret.txt
chmod 644 /workspace/project/secret.txt
cat > /workspace/project/backup.sh <<'SCRIPT'
#!/bin/sh
# Copies the project's notes into the archive, stamped with the date.
cp /workspace/project/notes.txt "/workspace/project/archive/notes-$(date +%F).txt"
SCRIPT
chmod 644 /workspace/project/backup.sh
groupadd --force developers
