"""The thin end-to-end path: a real server, a real client, every operation once."""


def test_list_create_react_unpin_delete(api):
    first = api.messages()
    assert len(first) == 20
    created = api.create("hello from the tests")
    assert created["message"] == "hello from the tests"
    reaction = api.post(f"/chats/{created['chatId']}/reactions", as_="bob", json={"reaction": ":thumbs_up:"})
    assert reaction.status_code == 200
    reactions = api.get("/chats/reactions", params={"chatIds": created["chatId"]})
    assert reactions.json() == [{"chatId": created["chatId"], "id": reaction.json()["reactionId"],
                                 "reaction": ":thumbs_up:"}]
    pinned = next(m for m in api.all_messages() if m["pinned"])
    assert api.delete(f"/chats/{pinned['chatId']}/pins/{pinned['pinned']['id']}").status_code == 200
    assert api.delete(f"/chats/{created['chatId']}/reactions/{reaction.json()['reactionId']}",
                      as_="bob").status_code == 200
    deleted = api.delete(f"/chats/{created['chatId']}", as_="alice")
    assert deleted.status_code == 204 and deleted.content == b""
