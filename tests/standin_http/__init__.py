"""What the stand-in servers share: the server thread, the request log, fault triggers, how answers are sent.

tests/kubeapi (Kubernetes) and tests/cfapi (Cloudflare) differ in what they answer, not in how they serve.
"""
