mkdir -p /root/app
echo "scenario prepared" > /tmp/.prepared
