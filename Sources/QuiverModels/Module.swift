// QuiverModels: see DESIGN notes in README.
