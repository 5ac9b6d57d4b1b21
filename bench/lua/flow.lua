-- A partner's flow, over and over: Alice creates a message, Bob reacts to it, Bob lists the
-- page, Bob lists the reactions of the messages he reacted to, Alice deletes a message.
--
-- wrk runs this script once per thread and interleaves that thread's connections, so an answer
-- is not tied to its request by order, and a later step may overtake an earlier one still in
-- flight. So each step takes its message from what the answers have shown: a create's answer
-- gives the id to react to; a reactions listing that shows the reaction gives the id to delete
-- (the reaction is in, the delete cannot overtake it). With nothing to take, the step is a create.
-- The base path is the URL's (http://host:port/v1 -> /v1).

local created, reacting, deletable = {}, {}, {}
local step = 0
local base = "/v1"

local function headers(token, json)
  local h = { ["Authorization"] = "Bearer " .. token }
  if json then h["Content-Type"] = "application/json" end
  return h
end

function init(args)
  local path = wrk.path or ""
  if path ~= "" and path ~= "/" then base = path:gsub("/$", "") end
end

function request()
  step = step % 5 + 1
  if step == 2 and #created > 0 then
    local id = table.remove(created, 1)
    table.insert(reacting, id)
    return wrk.format("POST", base .. "/chats/" .. id .. "/reactions", headers("bob-token", true),
                      '{"reaction":":thumbs_up:"}')
  elseif step == 3 then
    return wrk.format("GET", base .. "/chats?Take=20", headers("bob-token"))
  elseif step == 4 and #reacting > 0 then
    local query = {}
    for i = 1, math.min(3, #reacting) do query[i] = "chatIds=" .. reacting[i] end
    return wrk.format("GET", base .. "/chats/reactions?" .. table.concat(query, "&"), headers("bob-token"))
  elseif step == 5 and #deletable > 0 then
    return wrk.format("DELETE", base .. "/chats/" .. table.remove(deletable, 1), headers("alice-token"))
  end
  return wrk.format("POST", base .. "/chats", headers("alice-token", true),
                    '{"message":"A partner flow message"}')
end

function response(status, hdrs, body)
  if not body then return end
  local first = body:sub(1, 1)
  if first == "{" then
    local id = body:match('^{"chatId":"([^"]+)","message"')      -- a create's answer
    if id then table.insert(created, id) end
  elseif first == "[" then                                          -- a reactions listing
    local seen = {}
    for id in body:gmatch('"chatId":"([^"]+)"') do seen[id] = true end
    for i = math.min(3, #reacting), 1, -1 do
      if seen[reacting[i]] then
        table.insert(deletable, table.remove(reacting, i))
      end
    end
  end
end
