"""Operating mosu (运维): health and readiness, metrics, request logs, the deployment
doctor, personal data under the PIPL (export, erasure) and the retention clean-up."""
