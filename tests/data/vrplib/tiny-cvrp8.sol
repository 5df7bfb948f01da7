Route #1: 3
Route #2: 4 2 7 6
Route #3: 5 8
Cost 281
