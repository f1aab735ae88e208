// QuiverTokenizers: see DESIGN notes in README.
