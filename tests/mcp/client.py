"""Drive psyche-exporter's MCP server with the official MCP Python SDK (`mcp` on PyPI).

Used by tests/it/mcp.rs, which installs nothing: tests/run-all.sh puts the SDK in a
throw-away venv and hands its interpreter to the test. This script only talks to the
server and prints what it saw as one JSON document on stdout; the Rust test decides
what is right.

Usage: client.py CONFIG_JSON, where CONFIG_JSON is
  {"transport": "stdio", "command": "...", "args": [...], "env": {...}}
  or {"transport": "http", "url": "http://127.0.0.1:PORT/mcp"},
plus "mode": "legacy" (the initialize handshake at the SDK's newest handshake
revision), "2026-07-28" (the per-request revision, via server/discover), or an
older handshake revision such as "2025-03-26" (an initialize request naming it),
and "run_id" / "unknown_run_id": the run ids to ask about.
"""

import asyncio
import json
import sys
from contextlib import AsyncExitStack

import mcp_types as types
from mcp import Client, ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError


def server_of(config):
    if config["transport"] == "stdio":
        return StdioServerParameters(
            command=config["command"], args=config["args"], env=config.get("env", {})
        )
    return config["url"]


async def connect(stack, config):
    """A ready session and the revision it negotiated."""
    mode = config["mode"]
    if mode in ("legacy", "auto", "2026-07-28"):
        client = await stack.enter_async_context(Client(server_of(config), mode=mode))
        return client.session, client.protocol_version, client.server_info
    # An older handshake revision: the SDK's session, asked for that revision.
    if config["transport"] == "stdio":
        streams = stdio_client(server_of(config))
    else:
        streams = streamable_http_client(config["url"])
    read, write = await stack.enter_async_context(streams)
    session = await stack.enter_async_context(ClientSession(read, write))
    result = await session.send_request(
        types.InitializeRequest(
            params=types.InitializeRequestParams(
                protocol_version=mode,
                capabilities=types.ClientCapabilities(),
                client_info=types.Implementation(name="psyche-exporter-tests", version="1"),
            )
        ),
        types.InitializeResult,
    )
    session.adopt(result)
    await session.send_notification(types.InitializedNotification())
    return session, result.protocol_version, result.server_info


def dump(result):
    return {
        "isError": bool(result.is_error),
        "structuredContent": result.structured_content,
        "text": [c.text for c in result.content if c.type == "text"],
    }


async def protocol_error(session, name, arguments):
    try:
        result = await session.call_tool(name, arguments)
    except MCPError as e:
        return {"code": e.error.code, "message": e.error.message}
    return {"unexpected_result": dump(result)}


async def main(config):
    out = {}
    async with AsyncExitStack() as stack:
        session, version, server_info = await connect(stack, config)
        out["protocol_version"] = version
        out["server_name"] = server_info.name if server_info else None
        listed = await session.list_tools()
        out["tools"] = [
            t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in listed.tools
        ]
        run_id = config["run_id"]
        calls = [
            ("list_runs", {}),
            ("run_details", {"run_id": run_id}),
            ("checkpoints", {}),
            ("checkpoints", {"run_id": run_id}),
            ("pool_status", {}),
            ("network_stats", {}),
            ("contribute", {}),
        ]
        out["calls"] = []
        for name, arguments in calls:
            # The SDK validates structuredContent against the tool's output schema.
            result = await session.call_tool(name, arguments)
            out["calls"].append({"tool": name, "arguments": arguments, **dump(result)})
        out["unknown_run"] = dump(
            await session.call_tool("run_details", {"run_id": config["unknown_run_id"]})
        )
        out["wrong_type"] = await protocol_error(session, "run_details", {"run_id": 42})
        out["missing_argument"] = await protocol_error(session, "run_details", {})
        out["unknown_tool"] = await protocol_error(session, "psyche_monitor", {})
        # The server keeps working after those.
        out["after"] = dump(await session.call_tool("list_runs", {}))
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
