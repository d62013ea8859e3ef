"""The conversation as the model service is sent it."""

Message = dict[str, str]  # {"role": ..., "content": ...}
