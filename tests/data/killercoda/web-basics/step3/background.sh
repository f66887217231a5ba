touch /tmp/.step3-ready
