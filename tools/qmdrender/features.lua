-- qmdrender's Pandoc Lua filter: Quarto features as Typst (definitions in features.typ).
--   ::: {.callout-TYPE}            -> #qmd-callout(kind: ..., title: [...])[body]
--   ::: {#fig-x} image + caption    -> #figure(...) <fig-x>; several images -> subfigures
--   images with fig-alt="..."       -> Typst image(..., alt: "...")
-- blocks.py has checked the divs; a callout's title is its `title=` attribute, else a first
-- heading (blocks.py gave it the class .callout-title), else the type's name ("Note", ...).

local function raw(s) return pandoc.RawInline("typst", s) end

local function quote(s)
  return '"' .. s:gsub("\\", "\\\\"):gsub('"', '\\"') .. '"'
end

local function length(w)
  local px = w:match("^([%d.]+)px$")
  if px then return tostring(tonumber(px) * 0.75) .. "pt" end
  return w
end

local function image_call(img, width)
  local args = { quote(img.src) }
  local w = width or img.attributes.width
  if w then table.insert(args, "width: " .. length(w)) end
  local alt = img.attributes["fig-alt"]
  if alt then table.insert(args, "alt: " .. quote(alt)) end
  return "image(" .. table.concat(args, ", ") .. ")"
end

local function callout(div, kind)
  local blocks = div.content
  local title = nil
  if div.attributes.title then
    local parsed = pandoc.read(div.attributes.title, "markdown").blocks
    if #parsed > 0 then title = parsed[1].content end
  end
  local first = blocks[1]
  if not title and first and first.t == "Header" and first.classes:includes("callout-title") then
    title = first.content
    blocks = pandoc.List({ table.unpack(blocks, 2) })
  end
  local head = pandoc.List({ raw('#qmd-callout(kind: "' .. kind .. '"') })
  if title then
    head:insert(raw(", title: ["))
    head:extend(title)
    head:insert(raw("]"))
  end
  head:insert(raw(")["))
  local out = pandoc.List({ pandoc.Plain(head) })
  out:extend(blocks)
  out:insert(pandoc.RawBlock("typst", "]"))
  return out
end

-- The images of a figure div: {image, id, caption inlines} for each, in order.
local function figure_images(blocks)
  local images = {}
  for _, b in ipairs(blocks) do
    if b.t == "Figure" then
      pandoc.walk_block(b, { Image = function(img)
        table.insert(images, { image = img, id = b.identifier ~= "" and b.identifier or img.identifier,
          caption = pandoc.utils.blocks_to_inlines(b.caption.long) })
      end })
    elseif b.t == "Para" or b.t == "Plain" then
      for _, el in ipairs(b.content) do
        if el.t == "Image" then
          table.insert(images, { image = el, id = el.identifier, caption = el.caption })
        end
      end
    end
  end
  return images
end

local function only_images(b)
  for _, el in ipairs(b.content) do
    if el.t ~= "Image" and el.t ~= "Space" and el.t ~= "SoftBreak" and el.t ~= "LineBreak" then
      return false
    end
  end
  return true
end

local function figure_div(div)
  local blocks = pandoc.List(div.content)
  local caption = pandoc.List()
  local last = blocks[#blocks]
  if last and (last.t == "Para" or last.t == "Plain") and not only_images(last) then
    caption = last.content
    blocks:remove(#blocks)
  end
  local images = figure_images(blocks)
  local subfigures = #images > 1 or (images[1] and images[1].id ~= "")
  local out = pandoc.List()
  if not subfigures then
    out:insert(raw("#figure(" .. image_call(images[1].image) .. ", caption: ["))
  else
    local ncol = tonumber(div.attributes["layout-ncol"]) or #images
    out:insert(raw("#qmd-subfloat(columns: " .. ncol .. ", label: label(" .. quote(div.identifier)
      .. "), caption: ["))
  end
  out:extend(caption)
  if not subfigures then
    out:insert(raw("]) <" .. div.identifier .. ">"))
    return pandoc.Plain(out)
  end
  out:insert(raw("], ("))
  for i, sub in ipairs(images) do
    out:insert(raw("(image: " .. image_call(sub.image, "100%") .. ", label: "
      .. (sub.id ~= "" and ("label(" .. quote(sub.id) .. ")") or "none") .. ", caption: "))
    if #sub.caption > 0 then
      out:insert(raw("[(" .. string.char(96 + i) .. ") "))
      out:extend(sub.caption)
      out:insert(raw("]),"))
    else
      out:insert(raw("none),"))
    end
  end
  out:insert(raw("))"))
  return pandoc.Plain(out)
end

-- Top-down, so a figure div sees its images before the Image rule below rewrites them.
return {
  traverse = "topdown",
  Div = function(div)
    for _, class in ipairs(div.classes) do
      local kind = class:match("^callout%-(%a+)$")
      if kind then return callout(div, kind) end
    end
    if div.identifier:match("^fig%-") then return figure_div(div), false end
  end,
  Image = function(img)
    if img.attributes["fig-alt"] then
      return raw("#box(" .. image_call(img) .. ")")
    end
  end,
}
