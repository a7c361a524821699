"""AI jobs on the `ai` queue: package recommendations and delay risk, answered by a model on Amazon Bedrock."""
