"""Local stand-in for EventBridge + Lambda, driven by infra/template.yaml."""
