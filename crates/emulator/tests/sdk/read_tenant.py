"""Reads an emulated tenant with Microsoft's official Graph SDK for Python (msgraph-sdk).

Connection details come from the JSON that `rewind emulator` prints (env REWIND_EMULATOR_INFO).
The SDK deserialises every response into its typed models; any shape it cannot read fails here.
Prints one JSON object with what it read, for the Rust test to check.
"""

import asyncio
import json
import os
import sys

import httpx
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.conditional_access_policy import ConditionalAccessPolicy
from msgraph.generated.models.country_named_location import CountryNamedLocation
from msgraph.generated.models.ip_named_location import IpNamedLocation
from msgraph.generated.users.users_request_builder import UsersRequestBuilder


class StaticTokenProvider(AccessTokenProvider):
    """Hands the SDK a token fetched once from the emulator's token endpoint."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def get_authorization_token(self, uri, additional_authentication_context=None) -> str:
        return self._token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator([])


def fetch_token(info: dict) -> str:
    reader = next(c for c in info["clients"] if c["access"] == "read")
    response = httpx.post(
        f"{info['authority_url']}/{info['tenant_id']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": reader["client_id"],
            "client_secret": reader["client_secret"],
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    response.raise_for_status()
    return response.json()["access_token"]


async def main() -> None:
    info = json.loads(os.environ["REWIND_EMULATOR_INFO"])
    auth = BaseBearerTokenAuthenticationProvider(StaticTokenProvider(fetch_token(info)))
    adapter = GraphRequestAdapter(auth)
    adapter.base_url = f"{info['graph_url']}/v1.0"
    client = GraphServiceClient(request_adapter=adapter)

    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        top=10, select=["id", "displayName", "userPrincipalName", "accountEnabled"]
    )
    page = await client.users.get(request_configuration=RequestConfiguration(query_parameters=query))
    users, pages = list(page.value), 1
    while page.odata_next_link:
        page = await client.users.with_url(page.odata_next_link).get()
        users += page.value
        pages += 1

    groups = (await client.groups.get()).value
    policies = (await client.identity.conditional_access.policies.get()).value
    locations = (await client.identity.conditional_access.named_locations.get()).value

    assert all(isinstance(p, ConditionalAccessPolicy) for p in policies)
    mfa = next(p for p in policies if p.display_name.startswith("CA000"))
    strength = next(p for p in policies if p.grant_controls and p.grant_controls.authentication_strength)

    print(json.dumps({
        "users": len(users),
        "user_pages": pages,
        "distinct_users": len({u.id for u in users}),
        "enabled_users": sum(1 for u in users if u.account_enabled),
        "groups": len(groups),
        "security_groups": sum(1 for g in groups if g.security_enabled),
        "policies": len(policies),
        "mfa_policy_state": mfa.state.value,
        "mfa_policy_excluded_groups": mfa.conditions.users.exclude_groups,
        "mfa_policy_controls": [c.value for c in mfa.grant_controls.built_in_controls],
        "strength_name": strength.grant_controls.authentication_strength.display_name,
        "ip_locations": sum(1 for l in locations if isinstance(l, IpNamedLocation)),
        "country_locations": sum(1 for l in locations if isinstance(l, CountryNamedLocation)),
        "ip_ranges": [r.cidr_address for l in locations if isinstance(l, IpNamedLocation) for r in l.ip_ranges],
    }))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as exc:  # the Rust test prints stderr on failure
        print(f"SDK read failed: {exc!r}", file=sys.stderr)
        raise
