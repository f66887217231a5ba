#!/bin/sh
# The reference solution: what `proctor lab test` runs to prove the judge
# passes a correct answer.
set -e
cd /workspace
echo 'Hello, Proctor' > hello.txt
printf '#!/bin/sh\ncat /workspace/hello.txt\n' > greet.sh
chmod +x greet.sh
