-- Math symbols that some Typst release does not know, written as the character itself.
--
-- Pandoc writes LaTeX symbols under Typst names, and Typst renamed several of them: Pandoc
-- before 3.10 writes \odot as `dot.circle`, which Typst 0.15 removed ("unknown symbol
-- modifier"); newer Pandoc writes `dot.o` or `chevron.l`, which Typst before 0.14 does not
-- know. The character (U+2299 for \odot) means the same to every Typst release, so each
-- equation that holds such a name is written here with the characters instead.
-- Both renderers run this filter: Quarto lists it under `filters:` in _quarto.yml (after
-- its own, so that its equation numbering sees the math first), tools/qmdrender passes the
-- same list to Pandoc. Any Pandoc 3.1-3.10 with any Typst 0.11-0.15.

local CHAR = {
  -- removed in Typst 0.15 (Pandoc < 3.10 writes them)
  ["dot.circle"] = "⊙", ["dot.circle.big"] = "⨀",
  ["plus.circle"] = "⊕", ["plus.circle.big"] = "⨁", ["plus.circle.arrow"] = "⟴",
  ["minus.circle"] = "⊖", ["div.circle"] = "⨸",
  ["times.circle"] = "⊗", ["times.circle.big"] = "⨂",
  ["eq.circle"] = "⊜", ["gt.circle"] = "⧁", ["lt.circle"] = "⧀",
  ["ast.circle"] = "⊛", ["backslash.circle"] = "⦸", ["dash.circle"] = "⊝",
  ["bar.circle"] = "⦶", ["bar.v.circle"] = "⦶", ["parallel.circle"] = "⦷",
  ["perp.circle"] = "⦹", ["circle.nested"] = "⊚",
  ["sect"] = "∩", ["sect.big"] = "⋂", ["sect.sq"] = "⊓", ["sect.sq.big"] = "⨅",
  ["sect.dot"] = "⩀", ["sect.double"] = "⋒", ["sect.and"] = "⩄", ["integral.sect"] = "⨙",
  ["diff"] = "∂", ["angle.l"] = "⟨", ["angle.r"] = "⟩",
  ["angle.l.double"] = "⟪", ["angle.r.double"] = "⟫", ["planck.reduce"] = "ħ",
  ["alef"] = "ℵ", ["bet"] = "ℶ", ["gimmel"] = "ℷ", ["dalet"] = "ℸ",
  -- new in Typst 0.13/0.14 (newer Pandoc writes them; older Typst does not know them)
  ["dot.o"] = "⊙", ["dot.o.big"] = "⨀",
  ["plus.o"] = "⊕", ["plus.o.big"] = "⨁", ["plus.o.arrow"] = "⟴",
  ["minus.o"] = "⊖", ["div.o"] = "⨸", ["times.o"] = "⊗", ["times.o.big"] = "⨂",
  ["eq.o"] = "⊜", ["gt.o"] = "⧁", ["lt.o"] = "⧀", ["slash.o"] = "⊘",
  ["ast.op.o"] = "⊛", ["convolve.o"] = "⊛", ["compose.o"] = "⊚",
  ["backslash.o"] = "⦸", ["dash.o"] = "⊝", ["bar.v.o"] = "⦶",
  ["parallel.o"] = "⦷", ["perp.o"] = "⦹",
  ["inter"] = "∩", ["inter.big"] = "⋂", ["inter.sq"] = "⊓", ["inter.sq.big"] = "⨅",
  ["inter.dot"] = "⩀", ["inter.double"] = "⋒", ["inter.and"] = "⩄",
  ["integral.inter"] = "⨙",
  ["chevron.l"] = "⟨", ["chevron.r"] = "⟩",
  ["chevron.l.double"] = "⟪", ["chevron.r.double"] = "⟫",
}

-- `typst` (Typst math source) with every name of CHAR, outside "strings", as its character.
local function with_characters(typst)
  local out = {}
  local pos = 1
  while pos <= #typst do
    local q = typst:find('"', pos, true)
    local code = typst:sub(pos, (q or #typst + 1) - 1)
    out[#out + 1] = code:gsub("()([%a][%w%.]*)", function(at, name)
      local before = at > 1 and code:sub(at - 1, at - 1) or ""
      if before:match("[%w%.#]") then return nil end
      local base, dots = name:match("^(.-)(%.*)$")
      local char = CHAR[base]
      return char and (char .. dots) or nil
    end)
    if not q then break end
    local close = q + 1  -- skip the string, honouring \" inside it
    while close <= #typst and typst:sub(close, close) ~= '"' do
      close = close + (typst:sub(close, close) == "\\" and 2 or 1)
    end
    out[#out + 1] = typst:sub(q, close)
    pos = close + 1
  end
  return table.concat(out)
end

local function math(m)
  if not FORMAT:match("typst") then return nil end
  local typst = pandoc.write(pandoc.Pandoc({ pandoc.Plain({ m }) }), "typst",
                             { wrap_text = "none" }):gsub("%s+$", "")
  local fixed = with_characters(typst)
  if fixed ~= typst then return pandoc.RawInline("typst", fixed) end
end

return { { Math = math } }
