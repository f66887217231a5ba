#!/bin/sh
# The reference solution: `proctor lab test` runs it to prove that the judge
# passes a correct answer (and that it failed before).
set -e
echo 'hello from {{id}}' > /workspace/greeting.txt
