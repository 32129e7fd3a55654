"""Optional LLM answering through LangChain: answer modes, providers, prompts and the faithfulness guard.
LangChain providers are imported only when an LLM mode is used; must not read the environment or import adapters."""
