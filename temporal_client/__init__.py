"""The client side of Temporal: connecting with the one data converter, starting and addressing
workflows by their contract (``contract``), visibility lists, history timelines, RPC deadlines.

Used by the API, the activities that call other workflows, the ops CLI and the tools; never by
workflow code, and it never imports a workflow class, so none of its users loads workflow code.
"""
