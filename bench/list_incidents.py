"""The full listing a user would otherwise write with Python `requests`: a client-credentials token,
then every page of Graph's /security/incidents, continuing from a lastUpdateDateTime boundary when
Graph stops paging at its $skip limit (as Incident Desk does), written to a JSON file like the seeds'
"incidents as JSON" script. Prints the number of incidents."""
import json
import sys

import requests

issuer, graph, client_id, secret, output = sys.argv[1:6]
token = requests.post(
    f"{issuer}/token",
    data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
          "scope": "https://graph.microsoft.com/.default"},
    timeout=30,
).json()["access_token"]
session = requests.Session()
session.headers["Authorization"] = f"Bearer {token}"
seen, boundary = {}, None
while True:
    params = {"$top": "50", "$orderby": "lastUpdateDateTime asc"}
    if boundary:
        params["$filter"] = f"lastUpdateDateTime ge {boundary}"
    url, new, full = f"{graph}/security/incidents", 0, False
    while url:
        page = session.get(url, params=params, timeout=60).json()
        params = None
        for incident in page["value"]:
            boundary = max(boundary or "", incident["lastUpdateDateTime"])
            if incident["id"] not in seen:
                seen[incident["id"]] = incident
                new += 1
        full = len(page["value"]) == 50
        url = page.get("@odata.nextLink")
    if not full or new == 0:
        break
with open(output, "w") as f:
    json.dump(list(seen.values()), f, indent=2)
print(len(seen))
