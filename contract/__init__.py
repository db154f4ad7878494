"""What running workflows and their callers agree on, in one place.

Workflow type names, workflow ids, the names and types of updates, signals and queries, the search
attributes and the visibility queries built from them are recorded in histories and in the
server's visibility store: renaming one breaks running workflows. Every caller (the API, the
activities, the ops CLI, the tools) takes them from here; the workflows declare them (a test
checks that each definition matches the workflow's own handler). Imports ``domain`` and
``temporalio`` only, so anything may import it.
"""
