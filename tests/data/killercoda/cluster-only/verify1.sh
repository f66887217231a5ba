#!/bin/bash
kubectl get deploy web
