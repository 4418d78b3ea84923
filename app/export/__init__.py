"""A computed graph written for other tools: a runnable PyTorch script, a Graphviz DOT file.
Text from the graph alone; nothing here imports those tools."""
