Route #1: 7 3 8 6 5 2 4 9
Cost 254
