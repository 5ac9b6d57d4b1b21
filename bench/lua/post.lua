-- POST /v1/chats: create a message as Alice (the mock's state grows; the bench resets between rounds).
wrk.method = "POST"
wrk.body = '{"message":"Hello from the bench"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer alice-token"
