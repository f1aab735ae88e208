// QuiverTensor: see DESIGN notes in README.
