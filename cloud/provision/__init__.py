"""Broker security: Mosquitto password file, ACL and a development TLS CA."""
