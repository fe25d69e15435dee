#!/usr/bin/env python3
"""Gives a fresh Bedside the data that docs/openapi.yaml's examples name, so that schemathesis
reaches the routes' real work instead of their 404s.

    python3 Tests/openapi/seed.py http://127.0.0.1:PORT

Imports the patient `demo-patient-1` (a Bundle: the Patient, a Condition, an Observation) with
POST /patient, then runs one turn in each of the sessions `demo-session-1` and `demo-session-2`
over the WebSocket (the offline model answers) and waits for each turn to end. Exits non-zero
when any step fails.
"""

import asyncio
import json
import sys
import urllib.request

import websockets

PATIENT = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {"resource": {"resourceType": "Patient", "id": "demo-patient-1", "gender": "female",
                      "birthDate": "1961-04-02", "name": [{"family": "Garcia", "given": ["Maria"]}]}},
        {"resource": {"resourceType": "Condition", "id": "demo-condition-1",
                      "subject": {"reference": "Patient/demo-patient-1"},
                      "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                                     "code": "active"}]},
                      "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006",
                                           "display": "Diabetes mellitus type 2"}]},
                      "onsetDateTime": "2015-06-01"}},
        {"resource": {"resourceType": "Observation", "id": "demo-observation-1", "status": "final",
                      "subject": {"reference": "Patient/demo-patient-1"},
                      "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                                "code": "vital-signs"}]}],
                      "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
                      "effectiveDateTime": "2024-03-01T09:00:00Z",
                      "valueQuantity": {"value": 72, "unit": "/min"}}},
    ],
}


def import_patient(base):
    request = urllib.request.Request(base + "/patient", data=json.dumps(PATIENT).encode(), method="POST",
                                     headers={"Content-Type": "application/fhir+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        if response.status != 201:
            raise RuntimeError(f"POST /patient answered {response.status}")


async def chat(base, session):
    url = base.replace("http://", "ws://") + f"/ws?session_id={session}"
    async with websockets.connect(url, open_timeout=60) as socket:
        first = json.loads(await asyncio.wait_for(socket.recv(), 60))
        if first.get("type") != "connection":
            raise RuntimeError(f"{session}: the first frame was {first}")
        await socket.send(json.dumps({"type": "message", "session_id": session,
                                      "content": "What are Maria Garcia's active conditions?"}))
        while True:
            event = json.loads(await asyncio.wait_for(socket.recv(), 120))
            if event.get("type") == "turn" and event.get("status") != "started":
                return


def main():
    base = sys.argv[1].rstrip("/")
    import_patient(base)
    for session in ("demo-session-1", "demo-session-2"):
        asyncio.run(chat(base, session))
    print("openapi: seeded demo-patient-1, demo-session-1 and demo-session-2")


if __name__ == "__main__":
    main()
