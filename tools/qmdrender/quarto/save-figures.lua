-- Copies each figure of the document to figures/<label>.<ext> beside its PDF (fig-examples.svg,
-- ...; a chunk that draws several: fig-x-1.svg, fig-x-2.svg, as its subfigures are named),
-- and removes the figures/fig-* files of earlier renders that the document no longer draws.
-- Both renderers run it (filters: in _quarto.yml); both name a chunk's plot files
-- `<label>-output-<n>.<ext>` (Quarto's own naming; qmdrender follows it). A document that
-- draws no labelled figure leaves figures/ as it is.

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local data = f:read("a")
  f:close()
  return data
end

local function write(path, data)
  local tmp = path .. ".tmp"
  local f = assert(io.open(tmp, "wb"))
  f:write(data)
  f:close()
  assert(os.rename(tmp, path))
end

local function dirname(path)
  return path:match("^(.*)/[^/]*$") or "."
end

-- Where the PDF goes: beside Quarto's input file, else Pandoc's working directory (qmdrender
-- runs Pandoc in the PDF's folder).
local function base_dir()
  if quarto and quarto.doc and quarto.doc.input_file then
    return dirname(quarto.doc.input_file)
  end
  return pandoc.system.get_working_directory()
end

-- An image path as a file: relative to the document, or, for qmdrender's Typst paths that
-- start with "/", to the Typst root it passes as `qmdrender-typst-root`.
local function locate(src, base, typst_root)
  for _, path in ipairs({ base .. "/" .. src, src, typst_root and (typst_root .. src) }) do
    if read(path) then return path end
  end
end

local function save_figures(doc)
  local labels, files = {}, {}
  local function add(src)
    local label, ext = src:match("([^/]+)$"):match("^(fig%-.+)%-output%-%d+%.(%w+)$")
    if label then
      if not files[label] then table.insert(labels, label); files[label] = {} end
      table.insert(files[label], { src = src, ext = ext })
    end
  end
  -- images, and image() calls that a filter already wrote as raw Typst (fig-alt)
  doc:walk({
    Image = function(img) add(img.src) end,
    RawInline = function(raw)
      if raw.format == "typst" then
        for src in raw.text:gmatch('image%("([^"]+)"') do add(src) end
      end
    end,
  })
  if #labels == 0 then return nil end
  local base = base_dir()
  local typst_root = doc.meta["qmdrender-typst-root"]
  typst_root = typst_root and pandoc.utils.stringify(typst_root)
  local folder = base .. "/figures"
  pandoc.system.make_directory(folder, true)
  local written = {}
  for _, label in ipairs(labels) do
    for k, file in ipairs(files[label]) do
      local name = #files[label] == 1 and (label .. "." .. file.ext)
        or (label .. "-" .. k .. "." .. file.ext)
      local path = locate(file.src, base, typst_root)
      if path then
        write(folder .. "/" .. name, read(path))
        written[name] = true
      else
        io.stderr:write("warning: save-figures.lua: cannot read " .. file.src .. "\n")
      end
    end
  end
  for _, name in ipairs(pandoc.system.list_directory(folder)) do
    if name:match("^fig%-.*%.%w+$") and not written[name] then os.remove(folder .. "/" .. name) end
  end
  return nil
end

return { { Pandoc = save_figures } }
